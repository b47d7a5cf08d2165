// The microphone's samples, passed to the page as they are recorded, for the
// streamed voice turn (chat.js). The AudioContext runs at 16 kHz, so these are
// already at the recogniser's rate; chat.js turns them into 16-bit PCM.
class PcmRecorder extends AudioWorkletProcessor {
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) this.port.postMessage(channel.slice(0));
    return true;
  }
}
registerProcessor("pcm-recorder", PcmRecorder);
