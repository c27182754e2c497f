#!/usr/bin/env node
/**
 * The `parapool` command: `parapool <subcommand> [flags]`. Each subcommand is
 * a module loaded only when it runs (the worker's loads bullmq and ioredis).
 */

type Command = () => { main(args: readonly string[]): Promise<number> };

const COMMANDS: Record<string, { readonly load: Command; readonly summary: string }> = {
  worker: { load: () => require('../remote/cli'), summary: 'serve a remote backend queue (Redis/BullMQ) with a local pool' },
  manager: {
    load: () => require('../manager/cli'),
    summary: 'serve a Manager over TCP (--listen HOST:PORT --register ./types.ts --authkey-file F)',
  },
};

async function run(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : COMMANDS[name];
  if (command === undefined) {
    const list = Object.entries(COMMANDS)
      .map(([key, { summary }]) => `  ${key.padEnd(10)}${summary}`)
      .join('\n');
    process.stderr.write(`usage: parapool <command> [flags]\n\ncommands:\n${list}\n`);
    return name === undefined || name === '--help' || name === '-h' ? 0 : 2;
  }
  return command.load().main(rest);
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`parapool: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
