/**
 * Loads every module that registers a shared type with the codec. The thread
 * entries hand the codec a loader that requires this file the first time a
 * thread receives a tag it has not seen (see `setSharedTypeLoader`), so a worker
 * can revive a Value or a Queue without having imported it. One import line per
 * module that calls `registerSharedType`; spec/codec/shared-types.spec.ts checks
 * that none is missing.
 */
import '../sync/lock';
import '../sync/rlock';
import '../sync/semaphore';
import '../sync/condition';
import '../sync/event';
import '../sync/barrier';
import '../shared/value';
import '../shared/array';
import '../shared/shared-memory';
import '../shared/shareable-list';
import '../ipc/queue';
import '../ipc/joinable-queue';
import '../ipc/simple-queue';
import '../ipc/connection';
import '../manager/manager';
