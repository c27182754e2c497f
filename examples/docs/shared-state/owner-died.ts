import { Array as sharedArray, Lock } from 'parapool';

const lock = new Lock();
const shared = sharedArray('i', 4);
const repair = (values: typeof shared): void => {
  values.view.fill(0);
};
const update = (values: typeof shared): void => {
  values.set(0, values.get(0) + 1);
};

if (await lock.acquire({ timeout: 5_000 })) {
  try {
    if (lock.ownerDied) repair(shared); // the dead holder may have left it half-updated
    update(shared);
  } finally {
    lock.release(); // ownerDied is false again
  }
}
console.log(shared.toArray()); // [ 1, 0, 0, 0 ]
