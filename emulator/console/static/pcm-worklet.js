// AudioWorklet for the real-time page: the microphone (channel 0, at the context's rate, often
// 48 kHz) -> 16-bit little-endian PCM at processorOptions.targetRate (16 kHz), posted to the page
// in chunks of processorOptions.chunkSamples. Downsampling averages the input samples that fall
// in each output sample's span (a box filter: enough anti-aliasing for speech recognition).
class Pcm16kProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options.processorOptions || {};
    this.ratio = sampleRate / (o.targetRate || 16000);
    this.chunk = new Int16Array(o.chunkSamples || 1600);
    this.filled = 0;
    this.sum = 0;     // of the input samples in the output sample being built
    this.count = 0;
    this.position = 0; // input samples consumed, relative to the start of that output sample
    this.port.onmessage = (event) => { if (event.data === "flush") this.flush(); };
  }

  emit(value) {
    const clipped = Math.max(-1, Math.min(1, value));
    this.chunk[this.filled++] = clipped < 0 ? clipped * 0x8000 : clipped * 0x7fff;
    if (this.filled === this.chunk.length) this.flush();
  }

  flush() {
    if (this.filled === 0) return;
    const out = new Int16Array(this.chunk.subarray(0, this.filled));
    this.port.postMessage(out.buffer, [out.buffer]);
    this.filled = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      this.sum += channel[i];
      this.count += 1;
      this.position += 1;
      if (this.position >= this.ratio) {
        this.emit(this.sum / this.count);
        this.position -= this.ratio;
        this.sum = 0;
        this.count = 0;
      }
    }
    return true;
  }
}

registerProcessor("pcm-16k", Pcm16kProcessor);
