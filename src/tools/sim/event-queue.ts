/** The simulator's agenda: a binary min-heap of events keyed by (time, insertion order). */
export class EventQueue<Event> {
  private times: number[] = [];
  private seqs: number[] = [];
  private evs: Event[] = [];
  private seq = 0;

  get size(): number {
    return this.evs.length;
  }

  push(time: number, ev: Event): void {
    const t = this.times;
    const s = this.seqs;
    const e = this.evs;
    let i = e.length;
    t.push(time);
    s.push(this.seq++);
    e.push(ev);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.less(p, i)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): { time: number; ev: Event } | undefined {
    const e = this.evs;
    if (e.length === 0) return undefined;
    const time = this.times[0] as number;
    const ev = e[0] as Event;
    const last = e.length - 1;
    this.swap(0, last);
    this.times.pop();
    this.seqs.pop();
    e.pop();
    let i = 0;
    const n = e.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (r < n && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return { time, ev };
  }

  private less(a: number, b: number): boolean {
    const ta = this.times[a] as number;
    const tb = this.times[b] as number;
    return ta < tb || (ta === tb && (this.seqs[a] as number) < (this.seqs[b] as number));
  }

  private swap(a: number, b: number): void {
    const t = this.times;
    const s = this.seqs;
    const e = this.evs;
    const t0 = t[a] as number;
    t[a] = t[b] as number;
    t[b] = t0;
    const s0 = s[a] as number;
    s[a] = s[b] as number;
    s[b] = s0;
    const e0 = e[a] as Event;
    e[a] = e[b] as Event;
    e[b] = e0;
  }
}
