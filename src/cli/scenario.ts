/**
 * `allocsim scenario`: runs a named misuse scenario and prints its story
 * step by step and the report it produced; `--control` runs the correct
 * program instead, which must report nothing.
 */

import { Command, Option } from 'commander';
import { AllocatorError } from '../interfaces/errors.js';
import { policyNames } from '../policies/registry.js';
import { SCENARIOS, findScenario, runScenario } from '../harness/scenarios/catalogue.js';

interface ScenarioOpts {
  list?: boolean;
  slab?: string;
  control?: boolean;
  detect?: boolean;
  json?: boolean;
}

/** Registers the command. */
export function scenarioCommand(program: Command): void {
  program
    .command('scenario')
    .description('run a named misuse scenario (out-of-bounds, use-after-free, double/invalid free, dev_kmalloc wrong free, …) and print its report')
    .argument('[name]', 'scenario name (see --list)')
    .option('--list', 'list the scenarios')
    .addOption(new Option('--slab <policy>', 'slab policy').choices(policyNames('slab')))
    .option('--control', 'run the correct program (the negative control): it must report nothing')
    .option('--no-detect', 'turn the misuse checks off (SLUB) and carry the bug forward: the program goes on and the invariant checks show the harm')
    .option('--json', 'print the outcome as JSON')
    .action((name: string | undefined, o: ScenarioOpts) => {
      if (o.list || !name) {
        if (!name && !o.list) throw new AllocatorError('parse', 'scenario: give a scenario name or --list');
        for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(30)} ${s.id.padEnd(5)} ${s.summary}\n`);
        return;
      }
      const s = findScenario(name);
      const out = runScenario(s, { slab: o.slab, buggy: o.control !== true, noDetect: o.detect === false });
      if (o.json) {
        process.stdout.write(JSON.stringify({ scenario: s.name, id: s.id, control: o.control === true, ...out }, null, 2) + '\n');
        return;
      }
      process.stdout.write(`scenario ${s.name} (${s.id})${o.control ? ' — negative control' : ''}${o.detect === false ? ' — detection off' : ''}: ${s.summary}\n\n`);
      out.steps.forEach((line, i) => process.stdout.write(`  ${i + 1}. ${line}\n`));
      process.stdout.write('\n');
      if (out.kinds.length === 0) process.stdout.write('no report\n');
      else process.stdout.write(out.text + '\n');
      if (o.control && out.kinds.length) process.exitCode = 1;
    });
}
