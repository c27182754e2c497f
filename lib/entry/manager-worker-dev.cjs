// The manager thread loads this when parapool itself runs from its TypeScript
// sources (under jest or tsx): register tsx's hook, then load the real entry.
require('tsx/cjs/api').register();
require('./manager-worker.ts');
