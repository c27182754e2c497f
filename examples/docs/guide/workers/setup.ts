// workers/setup.ts: state loaded once per worker by the initializer
let config = '';

export function init(file: string): void {
  config = file;
}

export function configOf(): string {
  return config;
}
