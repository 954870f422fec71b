/**
 * PUBACKs in the order their PUBLISHes came, while the messages themselves are answered in any
 * order: MQTT requires a receiver to acknowledge QoS 1 messages in the order it received them
 * (MQTT 3.1.1 and 5.0, section 4.6), and the node answers a message when its readings are
 * committed, which a later message's may be first. A place is held per message on arrival; when
 * the oldest places are answered their PUBACKs go out, each once. `reset` forgets every place when
 * the connection closes: the broker sends those messages again on the next one (and their packet
 * ids may be reused for other messages, so an old answer must not acknowledge anything then).
 */
export class OrderedAcks {
  private ids: Array<number> = []
  private answered: Array<boolean> = []
  private head = 0
  private epoch = 0

  constructor(private readonly send: (messageId: number) => void) {}

  /** Holds the message's place; the function returned says it is answered (only its first call counts). */
  hold(messageId: number): () => void {
    const slot = this.ids.length
    const epoch = this.epoch
    this.ids.push(messageId)
    this.answered.push(false)
    return () => {
      if (epoch !== this.epoch || this.answered[slot] === true) return
      this.answered[slot] = true
      this.flush()
    }
  }

  /** Places held and not yet acknowledged. */
  get pending(): number {
    return this.ids.length - this.head
  }

  reset(): void {
    this.epoch++
    this.ids = []
    this.answered = []
    this.head = 0
  }

  private flush(): void {
    while (this.head < this.ids.length && this.answered[this.head] === true) {
      const id = this.ids[this.head]!
      this.head++
      this.send(id)
    }
    if (this.head === this.ids.length) {
      // Everything acknowledged: start again from an empty list (slots are indexes into it).
      this.epoch++
      this.ids = []
      this.answered = []
      this.head = 0
    }
  }
}
