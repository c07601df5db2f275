"""Streaming channel identification on two talkers in one room: per-channel WER of the final
results with and without crosstalk cancellation (issue 15).

    python bench/stream_channels.py            # the stereo mixes of bench/meetings.py, both kinds

Each stereo mix (each talker loud on his own channel, -12 dB on the other's: a scaled copy, and
`_room`: delayed and reverberant) is streamed through the service's StreamSession in process
(StartStreamTranscription with EnableChannelIdentification, NumberOfChannels 2, 16 kHz PCM in
100 ms chunks, as fast as it decodes), three ways:
- `alone`: each talker's own track without the leak (mix.solo): the WER to match;
- `as is`: the mix, the canceller switched off (the stream as it was before it);
- `cleaned`: the mix, as the emulator streams it (engine/crosstalk.StreamingCanceller).
WER is against each channel's talker's words (mix.channel_text) after Whisper's English
normaliser (tests.support.wer). Target (issue 15): per-channel WER within 3 points of alone.
A measurement: the exit status is 0 whatever the figures are.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np

REPO = Path(__file__).resolve().parents[1]
for _path in (REPO, REPO / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

CHUNK_SECONDS = 0.1


def sessions():
    """StreamingSessions on the process's model store, the English model loaded."""
    from emulator.config import Settings
    from emulator.engine.recognizer import ModelLoadOptions, Recognizer
    from emulator.service.streaming import StreamingSessions
    from emulator.storage.models import ModelStore

    settings = Settings()
    models = ModelStore(settings.effective_model_store_dir(), settings.effective_models_dir())
    recognizer = Recognizer(models.resolve, ModelLoadOptions(cpu_threads=settings.effective_cpu_threads()))
    loader = threading.Thread(target=recognizer.model, args=(models.model_for_language("en"),))
    loader.start()  # on a helper thread, as the emulator loads it (bench/streaming.py)
    loader.join()
    return StreamingSessions(recognizer, models)


async def stream(owner, samples: np.ndarray, cancel: bool) -> dict[str, str]:
    """samples: (2, n) float32 16 kHz. Returns the final transcript per ChannelId."""
    parameters = {
        "language-code": "en-US",
        "media-encoding": "pcm",
        "sample-rate": "16000",
        "enable-channel-identification": "true",
        "number-of-channels": "2",
    }
    session = owner.open(SimpleNamespace(region="us-east-1", account_id="000000000000"), parameters, medical=False)
    if not cancel:
        session._canceller = None
    pcm = (np.clip(samples.T, -1.0, 1.0) * 32767).astype("<i2").tobytes()  # interleaved s16le
    step = int(CHUNK_SECONDS * 16000) * 4
    results = []
    try:
        for at in range(0, len(pcm), step):
            results += await session.audio(pcm[at : at + step])
        results += await session.end()
    finally:
        session.close()
    texts: dict[str, list[str]] = {}
    for result in results:
        if not result.is_partial:
            texts.setdefault(result.channel_id, []).append(result.alternatives[0].transcript)
    return {channel: " ".join(parts) for channel, parts in texts.items()}


def main() -> None:
    import meetings as synthetic

    from tests.support import wer

    owner = sessions()
    print(f"{'mix':14} {'alone ch0/ch1':>16} {'as is ch0/ch1':>16} {'cleaned ch0/ch1':>16}")
    worst = {"as is": 0.0, "cleaned": 0.0}
    for mix in synthetic.stereo_mixes() + synthetic.stereo_mixes(room=True):
        row = {}
        for name, samples, cancel in (("alone", mix.solo, True), ("as is", mix.samples, False), ("cleaned", mix.samples, True)):
            texts = asyncio.run(stream(owner, samples, cancel))
            row[name] = [wer(mix.channel_text[i], texts.get(f"ch_{i}", "")) for i in (0, 1)]
        for name in worst:
            worst[name] = max(worst[name], *(row[name][i] - row["alone"][i] for i in (0, 1)))
        print(f"{mix.id:14} " + " ".join(f"{row[n][0]:7.3f}/{row[n][1]:.3f}" for n in ("alone", "as is", "cleaned")), flush=True)
    print(f"worst WER minus alone: as is {100 * worst['as is']:.1f} points, cleaned {100 * worst['cleaned']:.1f} points")


if __name__ == "__main__":
    main()
