/** A fixed-size ring of the most recent alert transitions. */
import type { AlertEvent } from '../report';

export class AlertHistory {
  private readonly ring: (AlertEvent | undefined)[];
  private next = 0;
  /** Transitions ever recorded (the ring keeps the last `capacity`). */
  total = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<AlertEvent | undefined>(capacity);
  }

  push(event: AlertEvent): void {
    this.ring[this.next] = event;
    this.next = (this.next + 1) % this.capacity;
    this.total++;
  }

  /** Newest first; copies (the ring's events are frozen and shared with the notifiers; a report is its reader's to edit). */
  recent(): AlertEvent[] {
    const out: AlertEvent[] = [];
    for (let k = 1; k <= this.capacity; k++) {
      const event = this.ring[(this.next - k + this.capacity) % this.capacity];
      if (event === undefined) break;
      out.push({ ...event, labels: { ...event.labels }, annotations: { ...event.annotations } });
    }
    return out;
  }
}
