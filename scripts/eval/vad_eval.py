#!/usr/bin/python3
"""Speech test signals (espeak-ng + sox) and Silero VAD v5 frame agreement.

usage:
  vad_eval.py signal --set eval|calib|wake -o OUT.npy [--seed S]
      Synthesises the set's sentences with espeak-ng (22050 Hz), resamples
      them to 16 kHz mono with sox and joins them with silence (0.4-1.5 s,
      plus 0.5 s at both ends) carrying faint white noise (about -66 dBFS),
      so that the VAD sees both speech and non-speech. Writes float32 samples
      in [-1, 1] as a 1-D .npy. The sets use different sentences and voices:
      calib (calibration; includes two "hey jarvis" for the wake-word
      model), eval (evaluation), wake ("hey jarvis" between other phrases,
      evaluation of the openWakeWord models).
  vad_eval.py eval FP32.onnx INT8.onnx [INT8.onnx ...] [--signal S.npy] [--threads N]
      Runs every model frame by frame (512 samples, state carried, sr 16000)
      in onnxruntime-node (scripts/node/vad_eval.mjs) and prints one JSON line
      per INT8 model: agreement = fraction of frames where (p > 0.5) is the
      same for FP32 and INT8, plus the cosine / SQNR of the probability
      sequence. Without --signal the eval set is made in a temporary folder.

Needs espeak-ng and sox (scripts/setup.sh installs both) and numpy.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import wave

import numpy as np

RATE = 16000
HERE = os.path.dirname(os.path.abspath(__file__))
NODE_VAD = os.path.join(HERE, "..", "node", "vad_eval.mjs")

SETS = {
    "calib": [
        ("en-gb", 160, 50, "The quick brown fox jumps over the lazy dog."),
        ("en-gb", 140, 40, "Please send the quarterly report to the north office before Friday."),
        ("en-gb-x-rp", 175, 60, "It was raining when the train finally arrived at the station."),
        ("en-gb", 150, 70, "Seven hundred and twenty three boxes were shipped on Monday morning."),
        ("en-gb-x-rp", 165, 45, "Could you open the window, it is getting warm in here."),
        ("en-gb", 180, 55, "Turn left at the bank, then walk two blocks to the river park."),
        ("en-gb-x-rp", 145, 50, "hey jarvis"),
        ("en-gb", 155, 45, "Hey Jarvis, what time is it?"),
    ],
    "eval": [
        ("en-us", 170, 50, "Voice activity detection decides which parts of a recording contain speech."),
        ("en-us", 150, 35, "The meeting has been moved to Thursday at half past three."),
        ("en-us", 190, 65, "Numbers like four thousand and twelve are read one word at a time."),
        ("en-us", 140, 55, "Good morning, this is your captain speaking."),
        ("en-us", 165, 40, "Short words. Long pauses. Then a much longer sentence follows without a break."),
        ("en-us", 175, 60, "Thank you for calling, please stay on the line."),
    ],
    "wake": [
        ("en-us", 150, 50, "hey jarvis"),
        ("en-us", 170, 50, "What is the weather like today?"),
        ("en-gb", 140, 45, "hey jarvis"),
        ("en-us", 160, 60, "Turn on the kitchen lights."),
        ("en-us", 130, 55, "hey jarvis"),
        ("en-gb", 165, 50, "The train leaves at nine."),
        ("en-us", 160, 40, "hey, jarvis"),
        ("en-us", 175, 50, "Set a timer for ten minutes."),
    ],
}


def tool(name):
    path = shutil.which(name)
    if not path:
        sys.exit("vad_eval.py: %s not found (run scripts/setup.sh)" % name)
    return path


def read_wav_16k(path):
    with wave.open(path, "rb") as w:
        if w.getframerate() != RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
            sys.exit("vad_eval.py: %s is not 16 kHz mono 16-bit" % path)
        data = w.readframes(w.getnframes())
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def synth(tmp, i, voice, speed, pitch, text):
    raw = os.path.join(tmp, "u%d_22k.wav" % i)
    res = os.path.join(tmp, "u%d_16k.wav" % i)
    subprocess.run([tool("espeak-ng"), "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", raw, text],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    subprocess.run([tool("sox"), raw, "-r", str(RATE), "-c", "1", "-b", "16", res],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return read_wav_16k(res)


def make_signal(which, seed):
    rng = np.random.default_rng(seed)
    parts = []
    noise = lambda n: (rng.standard_normal(n) * 5e-4).astype(np.float32)
    with tempfile.TemporaryDirectory(prefix="vad_eval.") as tmp:
        parts.append(noise(RATE // 2))
        for i, (voice, speed, pitch, text) in enumerate(SETS[which]):
            u = synth(tmp, i, voice, speed, pitch, text)
            parts.append(u + noise(len(u)))
            gap = int(RATE * rng.uniform(0.4, 1.5)) if i + 1 < len(SETS[which]) else RATE // 2
            parts.append(noise(gap))
    return np.clip(np.concatenate(parts), -1.0, 1.0).astype(np.float32)


def cmd_signal(a):
    sig = make_signal(a.set, a.seed)
    os.makedirs(os.path.dirname(os.path.abspath(a.output)), exist_ok=True)
    tmp = a.output + ".tmp"
    with open(tmp, "wb") as f:
        np.save(f, sig)
    os.replace(tmp, a.output)
    print("vad_eval.py: %s set, %.2f s at %d Hz -> %s" % (a.set, len(sig) / RATE, RATE, a.output))


def cmd_eval(a):
    node = tool("node")
    with tempfile.TemporaryDirectory(prefix="vad_eval.") as tmp:
        signal = a.signal
        if signal is None:
            signal = os.path.join(tmp, "eval.npy")
            with open(signal, "wb") as f:
                np.save(f, make_signal("eval", a.seed))
        r = subprocess.run([node, NODE_VAD, signal, a.fp32] + a.int8 + ["--threads", str(a.threads)])
    sys.exit(r.returncode)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("signal")
    s.add_argument("--set", choices=sorted(SETS), default="eval")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--seed", type=int, default=1)
    e = sub.add_parser("eval")
    e.add_argument("fp32")
    e.add_argument("int8", nargs="+")
    e.add_argument("--signal")
    e.add_argument("--seed", type=int, default=1)
    e.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    {"signal": cmd_signal, "eval": cmd_eval}[a.cmd](a)


if __name__ == "__main__":
    main()
