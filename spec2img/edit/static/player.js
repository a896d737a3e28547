// Playback with the Web Audio API: two AudioBuffers (original A, edited B), a playhead,
// loop over a selection.  Buffers can change while playing: the source is restarted at
// the current position so an edit is heard at once.

export class Player {
  constructor(sampleRate, channels, length, onState) {
    this.sr = sampleRate;
    this.length = length;
    this.buffers = {
      edited: new AudioBuffer({ length, numberOfChannels: channels, sampleRate }),
      original: new AudioBuffer({ length, numberOfChannels: channels, sampleRate }),
    };
    this.loaded = { edited: false, original: false };
    this.which = 'edited';
    this.ctx = null;
    this.source = null;
    this.offset = 0;        // seconds, where playback (re)started
    this.startedAt = 0;     // ctx time of that start
    this.loop = null;       // [start, end] seconds or null
    this.onState = onState;
  }

  get duration() { return this.length / this.sr; }
  get playing() { return this.source !== null; }

  // Play a piece of audio once (a solo), starting at startSec of the recording: the
  // playhead follows it; the buffers A and B are untouched.
  playClip(startSec, channels) {
    if (!this.ctx) this.ctx = new AudioContext({ sampleRate: this.sr });
    if (this.ctx.state === 'suspended') this.ctx.resume();
    if (this.playing) this._stop();
    const n = channels[0].length;
    if (!n) return;
    const buf = new AudioBuffer({ length: n, numberOfChannels: channels.length, sampleRate: this.sr });
    channels.forEach((d, c) => buf.copyToChannel(d, c));
    const src = this.ctx.createBufferSource();
    src.buffer = buf;
    src.connect(this.ctx.destination);
    src.onended = () => {
      if (this.source === src) { this.source = null; this.clip = null; this.offset = startSec; this.onState(false); }
    };
    this.clip = { start: startSec, length: n / this.sr };
    this.offset = startSec;
    this.startedAt = this.ctx.currentTime;
    src.start(0, 0);
    this.source = src;
    this.onState(true);
  }

  write(which, start, channels) {
    const buf = this.buffers[which];
    channels.forEach((data, c) => buf.copyToChannel(data, c, start));
  }

  position() {
    if (!this.playing) return this.offset;
    if (this.clip) return Math.min(this.clip.start + this.clip.length, this.offset + (this.ctx.currentTime - this.startedAt));
    let t = this.offset + (this.ctx.currentTime - this.startedAt);
    if (this.loop && this.source.loop) {
      const [a, b] = this.loop;
      if (t > b) t = a + ((t - a) % (b - a));
    }
    return Math.min(t, this.duration);
  }

  seek(t) {
    t = Math.max(0, Math.min(this.duration, t));
    if (this.playing) { this._stop(); this.offset = t; this._start(); } else this.offset = t;
  }

  toggle() { if (this.playing) this.pause(); else this.play(); }

  play() {
    if (!this.ctx) this.ctx = new AudioContext({ sampleRate: this.sr });
    if (this.ctx.state === 'suspended') this.ctx.resume();
    if (this.offset >= this.duration - 1e-3) this.offset = 0;
    if (this.loop && (this.offset < this.loop[0] || this.offset > this.loop[1])) this.offset = this.loop[0];
    this._start();
  }

  pause() { const t = this.position(); this._stop(); this.offset = t; this.onState(false); }

  setLoop(range) {
    this.loop = range;
    if (this.playing) { const t = this.position(); this._stop(); this.offset = t; this._start(); }
  }

  use(which) {
    if (which === this.which) return;
    const t = this.position();
    const was = this.playing;
    if (was) this._stop();
    this.which = which;
    this.offset = t;
    if (was) this._start();
  }

  // The buffer changed under a playing source: restart there so the change is heard.
  refresh() {
    if (!this.playing) return;
    const t = this.position(); this._stop(); this.offset = t; this._start();
  }

  _start() {
    const src = this.ctx.createBufferSource();
    src.buffer = this.buffers[this.which];
    src.connect(this.ctx.destination);
    if (this.loop) { src.loop = true; src.loopStart = this.loop[0]; src.loopEnd = this.loop[1]; }
    src.onended = () => {
      if (this.source === src) { this.source = null; this.offset = this.duration; this.onState(false); }
    };
    this.startedAt = this.ctx.currentTime;
    src.start(0, this.offset);
    this.source = src;
    this.onState(true);
  }

  _stop() {
    const src = this.source;
    this.source = null;
    this.clip = null;
    if (src) { src.onended = null; try { src.stop(); } catch (e) { /* already stopped */ } src.disconnect(); }
  }
}
