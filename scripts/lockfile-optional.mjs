// Completes package-lock.json with the platform-specific optional packages that
// `npm install` leaves out when the registry it reads lacks them (here: the
// @unrs/resolver-binding-* packages of jest's resolver for other platforms).
// `npm ci` refuses a lock file that misses any optional dependency, even one
// for another platform; an entry that names the package, its version and its
// os/cpu is all it needs to skip it. Run after `npm install` changes the lock:
//   node scripts/lockfile-optional.mjs package-lock.json --write
import { readFileSync, writeFileSync } from 'node:fs';
const file = process.argv[2];
const lock = JSON.parse(readFileSync(file, 'utf8'));
const platform = {
  'android-arm-eabi': ['android', 'arm'],
  'android-arm64': ['android', 'arm64'],
  'darwin-arm64': ['darwin', 'arm64'],
  'darwin-x64': ['darwin', 'x64'],
  'freebsd-x64': ['freebsd', 'x64'],
  'linux-arm-gnueabihf': ['linux', 'arm', 'glibc'],
  'linux-arm-musleabihf': ['linux', 'arm', 'musl'],
  'linux-loong64-gnu': ['linux', 'loong64', 'glibc'],
  'linux-loong64-musl': ['linux', 'loong64', 'musl'],
  'linux-ppc64-gnu': ['linux', 'ppc64', 'glibc'],
  'linux-riscv64-gnu': ['linux', 'riscv64', 'glibc'],
  'linux-riscv64-musl': ['linux', 'riscv64', 'musl'],
  'linux-s390x-gnu': ['linux', 's390x', 'glibc'],
  'openharmony-arm64': ['openharmony', 'arm64'],
  'win32-arm64-msvc': ['win32', 'arm64'],
  'win32-ia32-msvc': ['win32', 'ia32'],
  'win32-x64-msvc': ['win32', 'x64'],
};
const missing = [];
for (const [key, entry] of Object.entries(lock.packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const path = `node_modules/${dep}`;
    if (lock.packages[path]) continue;
    missing.push(`${dep}@${version} (from ${key})`);
  }
}
console.log(missing.join('\n'));
if (process.argv[3] === '--write') {
  for (const line of missing) {
    const [, dep, version] = /^(@?[^@]+)@(\S+)/.exec(line);
    const suffix = dep.replace('@unrs/resolver-binding-', '');
    const [os, cpu, libc] = platform[suffix] ?? [];
    if (!os) throw new Error(`no platform known for ${dep}`);
    lock.packages[`node_modules/${dep}`] = {
      version,
      cpu: [cpu],
      dev: true,
      ...(libc ? { libc: [libc] } : {}),
      license: 'MIT',
      optional: true,
      os: [os],
    };
  }
  lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
  writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
}
