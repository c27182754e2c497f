#!/usr/bin/env node
/**
 * The `parapool` command: `parapool <subcommand> [options]`. Each subcommand
 * is one row of `COMMANDS`, loaded only when it runs (the worker's loads
 * bullmq and ioredis, the manager's node:tls and devalue).
 */

type Command = { readonly summary: string; run(args: string[]): Promise<number> };

const COMMANDS: Readonly<Record<string, Command>> = {
  manager: {
    summary: 'serve a Manager over TCP: --listen HOST:PORT --register ./types.ts --authkey-file F',
    run: (args) => (require('../manager/cli') as typeof import('../manager/cli')).main(args),
  },
  worker: {
    summary: 'serve a remote backend queue (Redis/BullMQ) with a local pool: --redis URL --queue Q --root DIR --tasks F',
    run: (args) => (require('../remote/cli') as typeof import('../remote/cli')).main(args),
  },
};

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, command]) => `  parapool ${name}  ${command.summary}`);
  return `usage: parapool <command> [options]\n\ncommands:\n${rows.join('\n')}\n`;
}

async function run(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`parapool: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  return command.run(args);
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
