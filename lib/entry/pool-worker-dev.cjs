// Pool workers load this when parapool itself runs from its TypeScript sources
// (under jest or tsx): register tsx's CommonJS hook,
// then load the real entry.
require('tsx/cjs/api').register();
module.exports = require('./pool-worker.ts');
