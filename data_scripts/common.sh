# Shared by the download scripts: fetch URL to FILE, failing with one clear line.
# Downloads land in ${LSTM_NLP_DATA:-data}/<name>/.
set -euo pipefail
data_root=${LSTM_NLP_DATA:-data}

fetch() {
  local url=$1 out=$2
  mkdir -p "$(dirname "$out")"
  if [ -s "$out" ]; then echo "have $out"; return 0; fi
  echo "fetching $url"
  if ! curl -fsSL --connect-timeout 15 --retry 2 -o "$out.part" "$url"; then
    rm -f "$out.part"
    echo "$(basename "$0"): error: could not download $url (no network, or the address moved)" >&2
    exit 2
  fi
  mv "$out.part" "$out"
}

need() {
  command -v "$1" >/dev/null || { echo "$(basename "$0"): error: needs $1" >&2; exit 2; }
}
need curl
