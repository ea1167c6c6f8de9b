// A fixed-capacity FIFO: the bounded queue between a switch's socket and the
// app. push() refuses when full instead of growing, so the caller counts a drop.

export class Ring<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  size = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`queue capacity must be a positive integer, got ${capacity}`);
    }
    this.items = new Array(capacity);
  }

  get full(): boolean {
    return this.size === this.capacity;
  }

  /** False, and nothing stored, when the queue is full. */
  push(item: T): boolean {
    if (this.size === this.capacity) return false;
    this.items[(this.head + this.size) % this.capacity] = item;
    this.size++;
    return true;
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    return item;
  }

  clear(): void {
    this.items.fill(undefined);
    this.head = 0;
    this.size = 0;
  }
}
