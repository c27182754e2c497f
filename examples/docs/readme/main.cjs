// main.cjs (plain JavaScript, CommonJS, Node 20 with no TypeScript loader): node main.cjs
const { Pool } = require('parapool');

async function main() {
  const pool = new Pool();
  try {
    // An inline function runs in the workers too, if it uses only its parameters and globals.
    const flags = await pool.map(
      (n) => {
        for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
        return n >= 2;
      },
      Array.from({ length: 100_000 }, (_, i) => 1_000_000 + i),
    );
    console.log(flags.filter(Boolean).length, 'primes'); // 7216 primes
  } finally {
    pool.close(); // no new work
    await pool.join(); // wait for accepted work and for the workers to exit
  }
}

main();
