#!/usr/bin/env bash
# Installs everything onnxq needs to build and test: Debian packages and the
# project-local Node tools (onnxruntime-node) in scripts/node/.
# Idempotent; does nothing slow when all is already present.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_DIR="$ROOT/scripts/node"
ORT_VERSION="1.30.0"
SYS_PYTHON=/usr/bin/python3

APT_PACKAGES=(
  meson ninja-build pkg-config gcc
  protobuf-c-compiler libprotobuf-c-dev
  libopenblas-dev check
  libonnx-dev libonnx-testdata python3-onnx python3-numpy python3-pil
  libjson-c-dev libpng-dev libjpeg-dev
  imagemagick espeak-ng sox valgrind time fonts-dejavu-core zlib1g-dev
  nodejs npm
  chromium  # headless: tests/e2e/report_chromium.sh renders the HTML report
)

step() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "not root and sudo is not available"
  SUDO=(sudo)
fi

# --- 1. Debian packages -----------------------------------------------------
missing=()
want=()
for p in "${APT_PACKAGES[@]}"; do
  # Node and npm may come from elsewhere than Debian; only install if absent.
  case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  want+=("$p")
done
# One dpkg-query call; unknown packages print nothing on stdout.
installed="$(dpkg-query -W -f='${Package} ${Status}\n' "${want[@]}" 2>/dev/null || true)"
for p in "${want[@]}"; do
  grep -qxF "$p install ok installed" <<<"$installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  step "apt packages: all ${#APT_PACKAGES[@]} present"
else
  step "apt packages: installing ${missing[*]}"
  log="$(mktemp)"
  if ! { "${SUDO[@]}" apt-get update -q &&
         "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
           apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    rm -f "$log"
    die "apt-get install failed"
  fi
  rm -f "$log"
fi

# --- 2. onnxruntime-node (npm, project-local) ------------------------------
ort_pkg="$NODE_DIR/node_modules/onnxruntime-node/package.json"
installed_version() {
  [ -f "$ort_pkg" ] || return 0
  node -e 'process.stdout.write(require(process.argv[1]).version)' "$ort_pkg" 2>/dev/null || true
}
if [ "$(installed_version)" = "$ORT_VERSION" ]; then
  step "onnxruntime-node $ORT_VERSION: present"
else
  # --ignore-scripts: the package's postinstall only fetches the CUDA/TensorRT
  # execution providers from NuGet (unreachable here, and not needed); the CPU
  # binding and libonnxruntime.so are inside the npm tarball itself.
  if [ -f "$NODE_DIR/package-lock.json" ]; then
    step "onnxruntime-node $ORT_VERSION: npm ci"
    npm_cmd=(npm ci)
  else
    step "onnxruntime-node $ORT_VERSION: npm install"
    npm_cmd=(npm install)
  fi
  log="$(mktemp)"
  if ! (cd "$NODE_DIR" && "${npm_cmd[@]}" --ignore-scripts --no-audit --no-fund) >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    rm -f "$log"
    die "npm failed in scripts/node"
  fi
  rm -f "$log"
  [ "$(installed_version)" = "$ORT_VERSION" ] ||
    die "scripts/node has onnxruntime-node '$(installed_version)', expected $ORT_VERSION"
fi

# --- 3. self-test: onnxruntime-node loads and runs a tiny model on CPU ------
arch="$(node -p 'process.platform + "/" + process.arch')"
bindir="$NODE_DIR/node_modules/onnxruntime-node/bin/napi-v6/$arch"
[ -f "$bindir/onnxruntime_binding.node" ] ||
  die "onnxruntime-node has no CPU binding for $arch ($bindir/onnxruntime_binding.node missing)"
[ -f "$bindir/libonnxruntime.so.1" ] || [ "${arch%%/*}" != linux ] ||
  die "onnxruntime-node has no $bindir/libonnxruntime.so.1"

selftest_model="$NODE_DIR/node_modules/.onnxq-selftest-add.onnx"
if [ ! -s "$selftest_model" ]; then
  "$SYS_PYTHON" - "$selftest_model" <<'EOF' || die "could not build the self-test model with $SYS_PYTHON + onnx"
import sys
from onnx import TensorProto, checker, helper, save
inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [3]) for n in ("a", "b")]
graph = helper.make_graph([helper.make_node("Add", ["a", "b"], ["c"])], "selftest", inputs,
                          [helper.make_tensor_value_info("c", TensorProto.FLOAT, [3])])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 7
checker.check_model(model)
save(model, sys.argv[1] + ".tmp")
EOF
  mv "$selftest_model.tmp" "$selftest_model"
fi
if ! out="$(cd "$NODE_DIR" && node - "$selftest_model" 2>&1 <<'EOF'
const ort = require('onnxruntime-node');
(async () => {
  const s = await ort.InferenceSession.create(process.argv[2],
    { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  const t = (v) => new ort.Tensor('float32', Float32Array.from(v), [3]);
  const r = await s.run({ a: t([1, 2, 3]), b: t([10, 20, 30.5]) });
  const c = Array.from(r.c.data);
  if (c.join(',') !== '11,22,33.5') throw new Error('wrong result ' + c);
  process.stdout.write('ok');
})().catch((e) => { console.error(e && e.stack || e); process.exit(1); });
EOF
)"; then
  printf '%s\n' "$out" >&2
  die "onnxruntime-node $ORT_VERSION does not run on CPU"
fi
step "onnxruntime-node self-test (Add on CPU): $out"
