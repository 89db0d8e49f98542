#!/usr/bin/env bash
# Installs lstm-nlp's build dependencies from Debian 12's archive and builds SentencePiece from
# Debian's source package against the system protobuf (Debian's own libsentencepiece.so bundles
# protobuf symbols that crash a process that also links Debian's LibTorch).
# Idempotent: a second run checks what is there and returns in seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
spm_version=0.1.97
spm_prefix="$root/third_party/sentencepiece"

packages=(build-essential cmake ninja-build pkg-config git
          libtorch-dev libopenblas0-pthread
          libyaml-cpp-dev libboost-program-options-dev libgtest-dev nlohmann-json3-dev
          libfmt-dev libspdlog-dev libicu-dev libxxhash-dev libdnnl-dev libxsmm-dev libgloo-dev python3-torch python3-sentencepiece clang-format
          protobuf-compiler libprotobuf-dev dpkg-dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# Debian's default reference BLAS makes LibTorch's LSTM ~20x slower; prefer OpenBLAS.
openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
if [ -e "$openblas" ] && ! update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null \
      | grep -q "^Value: $openblas"; then
  "${sudo_cmd[@]}" update-alternatives --set libblas.so.3-x86_64-linux-gnu "$openblas" >/dev/null
fi

if [ ! -f "$spm_prefix/lib/libsentencepiece.a" ] || [ ! -x "$spm_prefix/bin/spm_encode" ]; then
  echo "setup.sh: building SentencePiece $spm_version from Debian's source package"
  if ! grep -rqs "deb-src" /etc/apt/sources.list.d/ /etc/apt/sources.list; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
      | "${sudo_cmd[@]}" tee /etc/apt/sources.list.d/debian-src.sources >/dev/null
    "${sudo_cmd[@]}" apt-get update -qq
  fi
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # Upstream's tarball from Debian's source package: Debian's patches drop the static libraries
  # and tie init.h to the bundled protobuf, which we must not use.
  (cd "$work" && apt-get source -qq --download-only "sentencepiece=$spm_version*" >/dev/null 2>&1 \
     || apt-get source -qq --download-only sentencepiece >/dev/null)
  tar xzf "$work"/sentencepiece_*.orig.tar.gz -C "$work"
  src=$(find "$work" -maxdepth 1 -type d -name 'sentencepiece-*' | head -n1)
  cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$spm_prefix.tmp" \
    -DSPM_USE_BUILTIN_PROTOBUF=OFF -DSPM_ENABLE_SHARED=OFF -DSPM_ENABLE_TCMALLOC=OFF \
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON >/dev/null
  cmake --build "$work/build" -j "$(nproc)" >/dev/null
  rm -rf "$spm_prefix.tmp"
  cmake --install "$work/build" >/dev/null
  rm -rf "$spm_prefix"
  mv "$spm_prefix.tmp" "$spm_prefix"
fi
echo "setup.sh: dependencies ready (SentencePiece in ${spm_prefix#$root/})"
