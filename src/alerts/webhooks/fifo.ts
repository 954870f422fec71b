/** A FIFO with a moving head (no `Array.shift`); its bound is checked by the caller. */
export class Fifo<A> {
  private items: Array<A> = []
  private head = 0
  get size(): number {
    return this.items.length - this.head
  }
  push(item: A): void {
    this.items.push(item)
  }
  peek(): A | undefined {
    return this.items[this.head]
  }
  replaceHead(item: A): void {
    if (this.size > 0) this.items[this.head] = item
  }
  dropHead(): void {
    this.head++
    if (this.head >= this.items.length) this.drain()
    else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
  }
  drain(): ReadonlyArray<A> {
    const rest = this.items.slice(this.head)
    this.items = []
    this.head = 0
    return rest
  }
}
