// The manager thread loads this when parapool itself runs from its TypeScript
// sources (under jest or tsx): the TypeScript hook (./dev-hook.cjs), then the real entry.
require('./dev-hook.cjs');
require('./manager-worker.ts');
