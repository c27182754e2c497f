/**
 * Imported by every thread entry: hands the codec the loader of every shared
 * type, so this thread can revive a Value or a Queue it never imported (see
 * `setSharedTypeLoader` in lib/codec/codec.ts). The types load only when the
 * thread first receives one.
 */
import { setSharedTypeLoader } from '../codec/codec';

setSharedTypeLoader(() => require('./shared-types'));
