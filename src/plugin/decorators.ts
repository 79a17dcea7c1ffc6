/**
 * inversify's decorators, re-exported from allocsim so that a policy file
 * written outside any project (which has no inversify of its own) uses the
 * very copy the CLI binds with. Plain-JavaScript policy files need none of
 * them: a class without decorators gets its layer's constructor convention.
 */

import { inject as inversifyInject, injectable as inversifyInjectable, optional as inversifyOptional } from 'inversify';

/** `@inject(TOKEN)` on a constructor parameter: what it receives (a token of `src/interfaces/tokens.ts`). */
export const inject = inversifyInject;
/** `@injectable()` on a policy class. */
export const injectable = inversifyInjectable;
/** `@optional()` beside `@inject(KASAN)` / `@inject(KMEMLEAK)`: the parameter is undefined when the detector is off. */
export const optional = inversifyOptional;
