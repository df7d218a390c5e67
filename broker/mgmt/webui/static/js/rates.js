// rates.js: per-second rates from successive polls of counters, since the
// API reports totals, not rates.

// History keeps timed samples for `keep` seconds.
export class History {
  constructor(keep) {
    this.keep = keep;
    this.samples = [];
  }

  // add appends a sample {t (seconds), ...values} and drops the old ones.
  add(sample) {
    this.samples.push(sample);
    const cut = sample.t - this.keep;
    while (this.samples.length && this.samples[0].t < cut) this.samples.shift();
  }

  // series gives [[t, v]] of one value of every sample.
  series(get) {
    return this.samples.map((s) => [s.t, get(s)]).filter(([, v]) => typeof v === 'number' && isFinite(v));
  }

  // rate gives [[t, per second]] between successive samples of a counter; a
  // counter that went down (a restart) gives no point.
  rate(get) {
    const out = [];
    for (let i = 1; i < this.samples.length; i++) {
      const a = this.samples[i - 1], b = this.samples[i];
      const va = get(a), vb = get(b);
      if (typeof va !== 'number' || typeof vb !== 'number' || vb < va || b.t <= a.t) continue;
      out.push([b.t, (vb - va) / (b.t - a.t)]);
    }
    return out;
  }
}

// now is the time in seconds.
export const now = () => Date.now() / 1000;

// Counter remembers the last value of counters by key and answers their
// rates per second (used for per-connection traffic in tables).
export class Counter {
  constructor() {
    this.last = new Map();
  }

  // rate records v for key at t and returns the rate since the previous
  // value, or null for the first one (or after the counter went down).
  rate(key, t, v) {
    const prev = this.last.get(key);
    const cur = { t, v, r: null };
    if (prev && typeof v === 'number' && v >= prev.v && t > prev.t) cur.r = (v - prev.v) / (t - prev.t);
    this.last.set(key, cur);
    return cur.r;
  }

  // keep forgets every key not in keys.
  keep(keys) {
    const live = new Set(keys);
    for (const k of this.last.keys()) if (!live.has(k)) this.last.delete(k);
  }
}

// SumRates turns the counters of many objects that come and go (channels'
// message_stats) into total rates per second: a counter counts from its
// previous value, or from zero for an object new since the last poll.
export class SumRates {
  constructor(keys) {
    this.keys = keys;
    this.prev = null; // {t, byName: Map(name → stats)}
  }

  // update takes the objects ({name, message_stats}) seen at t and returns
  // {key: rate per second}, or null after the first poll.
  update(t, objects) {
    const byName = new Map(objects.map((o) => [o.name, o.message_stats || {}]));
    const prev = this.prev;
    this.prev = { t, byName };
    if (!prev || t <= prev.t) return null;
    const out = {};
    for (const k of this.keys) {
      let sum = 0;
      for (const [name, st] of byName) {
        const v = st[k], before = prev.byName.has(name) ? prev.byName.get(name)[k] || 0 : 0;
        if (typeof v === 'number' && v >= before) sum += v - before;
      }
      out[k] = sum / (t - prev.t);
    }
    return out;
  }
}
