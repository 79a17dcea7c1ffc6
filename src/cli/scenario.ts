/**
 * `allocsim scenario`: runs a named misuse scenario and prints its story
 * step by step and the report it produced; `--control` runs the correct
 * program instead, which must report nothing.
 */

import { Command, Option } from 'commander';
import { SCENARIOS, findScenario, runScenario } from '../harness/scenarios/catalogue.js';
import { EXIT, badInput, printJson } from './errors.js';
import { policyArg, rejectOptions } from './options.js';

interface ScenarioOpts {
  list?: boolean;
  slab?: string;
  control?: boolean;
  detect?: boolean;
  json?: boolean;
}

/** Registers the command. */
export function scenarioCommand(program: Command): void {
  const cmd = program
    .command('scenario')
    .description('run a named misuse scenario (out-of-bounds, use-after-free, double/invalid free, dev_kmalloc wrong free, …) and print its report')
    .argument('[name]', 'scenario name (see --list)')
    .option('--list', 'list the scenarios')
    .addOption(new Option('--slab <policy>', "slab policy: a name or a policy file (default: the scenario's own, slub for most)").argParser(policyArg('slab')))
    .option('--control', 'run the correct program (the negative control): it must report nothing (exit 1 if it does)')
    .option('--no-detect', 'turn the misuse checks off (SLUB) and carry the bug forward: the program goes on and the invariant checks show the harm')
    .option('--json', 'print the outcome (or the list) as JSON');
  cmd.action((name: string | undefined, o: ScenarioOpts) => {
    if (o.list) {
      if (name !== undefined) throw badInput(`--list lists every scenario; it takes no scenario name (got '${name}')`);
      rejectOptions(cmd, ['slab', 'control', 'no-detect'], 'applies to running a scenario, not to --list');
      if (o.json) printJson(SCENARIOS.map((s) => ({ name: s.name, id: s.id, summary: s.summary })));
      else for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(30)} ${s.id.padEnd(5)} ${s.summary}\n`);
      return;
    }
    if (name === undefined) throw badInput("give a scenario name, or --list to see them (see 'allocsim scenario --help')");
    const s = findScenario(name);
    if (o.detect === false && s.aftermath === undefined) {
      throw badInput(`--no-detect: scenario '${s.name}' has no no-detect story (those that do: ${SCENARIOS.filter((x) => x.aftermath !== undefined).map((x) => x.name).join(', ')})`);
    }
    const out = runScenario(s, { slab: o.slab, buggy: o.control !== true, noDetect: o.detect === false });
    if (o.control && out.kinds.length) process.exitCode = EXIT.FINDING;
    if (o.json) {
      printJson({ scenario: s.name, id: s.id, control: o.control === true, ...out });
      return;
    }
    process.stdout.write(`scenario ${s.name} (${s.id})${o.control ? ' — negative control' : ''}${o.detect === false ? ' — detection off' : ''}: ${s.summary}\n\n`);
    out.steps.forEach((line, i) => process.stdout.write(`  ${i + 1}. ${line}\n`));
    process.stdout.write('\n');
    if (out.kinds.length === 0) process.stdout.write('no report\n');
    else process.stdout.write(out.text + '\n');
  });
}
