/** The allocsim version: what `--version` prints, and what a distributed campaign's jobs carry (a worker of another version refuses them). */
export const VERSION = '0.1.0';
