/**
 * The campaign registry: one fuzz campaign per layer, each with its default
 * machine, the policy option that picks what it fuzzes, and `run` /
 * `replay`. The CLI, the mutant runner and the corpus replay read this table
 * and never branch on the layer.
 */

import { AllocatorError } from '../src/interfaces/errors.js';
import { FUZZ_LAYERS, type FuzzLayer } from './common.js';
import type { FuzzCampaign } from './engine.js';
import { PAGE_CAMPAIGN } from './page/campaign.js';
import { SLAB_CAMPAIGN } from './slab/campaign.js';
import { USER_CAMPAIGN } from './user/campaign.js';
import { VMALLOC_CAMPAIGN } from './vmalloc/campaign.js';

/** Every layer's campaign. */
export const FUZZ_CAMPAIGNS: Readonly<Record<FuzzLayer, FuzzCampaign>> = {
  page: PAGE_CAMPAIGN,
  slab: SLAB_CAMPAIGN,
  vmalloc: VMALLOC_CAMPAIGN,
  user: USER_CAMPAIGN,
};

/** True when `s` names a layer with a campaign. */
export function isFuzzLayer(s: unknown): s is FuzzLayer {
  return typeof s === 'string' && (FUZZ_LAYERS as readonly string[]).includes(s);
}

/** The campaign of `layer`. @throws AllocatorError `unknown-name` */
export function campaignOf(layer: string): FuzzCampaign {
  if (!isFuzzLayer(layer)) throw new AllocatorError('unknown-name', `no fuzz campaign for layer '${layer}' (known: ${FUZZ_LAYERS.join(', ')})`);
  return FUZZ_CAMPAIGNS[layer];
}
