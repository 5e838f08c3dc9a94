# Shared by datasets/*/fetch.sh (source it): download a data set from its publisher, check its
# sha256, and put its files in DEST/<name>/ (the data set's own folder by default), so that the
# configs and tests find them. Needs curl or wget, sha256sum, and unzip or python3 for zips.
# Each script: fetch_main NAME "$@" after defining fetch_data SRC OUT (SRC: the downloaded or
# --from file; OUT: an empty folder to fill).
set -euo pipefail

fetch_die() { echo "fetch: $*" >&2; exit 1; }

# The calling script's leading comment block, as its --help.
fetch_usage() { sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; }

# fetch_download URL OUT: OUT holds the file at URL, or the script ends naming the URL and why.
fetch_download() {
  local url=$1 out=$2
  echo "fetch: downloading $url"
  if command -v curl >/dev/null; then
    curl -fL --retry 3 --connect-timeout 30 -o "$out" "$url" || fetch_die "could not download $url (curl exit $?)"
  elif command -v wget >/dev/null; then
    wget -q --tries=3 -O "$out" "$url" || fetch_die "could not download $url (wget exit $?)"
  else
    fetch_die "neither curl nor wget is installed (apt-get install curl)"
  fi
}

# fetch_check_sha256 FILE SHA256 [WHAT]: the file's sha256 is SHA256, or the script ends.
fetch_check_sha256() {
  local file=$1 want=$2 what=${3:-$1}
  local got
  got=$(sha256sum "$file" | cut -d' ' -f1)
  [ "$got" = "$want" ] ||
    fetch_die "$what has sha256 $got, expected $want: not the published file (a changed release, or a broken download); nothing was installed"
  echo "fetch: $what: sha256 $want, as published"
}

# fetch_unzip ZIP FOLDER_IN_ZIP OUT: the files of FOLDER_IN_ZIP/ inside ZIP, moved into OUT.
fetch_unzip() {
  local zip=$1 inner=$2 out=$3
  local tmp="$out/.unzip"
  mkdir -p "$tmp"
  if command -v unzip >/dev/null; then
    unzip -q "$zip" -d "$tmp" || fetch_die "could not unpack $zip"
  elif command -v python3 >/dev/null; then
    python3 -m zipfile -e "$zip" "$tmp" || fetch_die "could not unpack $zip"
  else
    fetch_die "neither unzip nor python3 is installed (apt-get install unzip)"
  fi
  [ -d "$tmp/$inner" ] || fetch_die "$zip holds no folder $inner/"
  mv "$tmp/$inner"/* "$out/"
  rm -rf "$tmp"
}

# fetch_unzip_member ZIP MEMBER: MEMBER of ZIP on standard output.
fetch_unzip_member() {
  if command -v unzip >/dev/null; then
    unzip -p "$1" "$2"
  elif command -v python3 >/dev/null; then
    python3 -c 'import shutil, sys, zipfile; shutil.copyfileobj(zipfile.ZipFile(sys.argv[1]).open(sys.argv[2]), sys.stdout.buffer)' "$1" "$2"
  else
    fetch_die "neither unzip nor python3 is installed (apt-get install unzip)"
  fi
}

# fetch_main NAME ARGS...: parses --from FILE, --dest DIR and --help, then runs fetch_data into a
# temporary folder beside the destination and moves its files in only when all of it succeeded.
fetch_main() {
  local name=$1
  shift
  local from="" dest
  dest=$(cd "$(dirname "$0")/.." && pwd)
  while [ $# -gt 0 ]; do
    case $1 in
      -h | --help) fetch_usage; exit 0 ;;
      --from) from=${2:?--from needs a file}; shift 2 ;;
      --dest) dest=${2:?--dest needs a folder}; shift 2 ;;
      *) fetch_die "unknown argument '$1' (see --help)" ;;
    esac
  done
  [ -z "$from" ] || [ -f "$from" ] || fetch_die "--from: '$from' is not a file"
  local target="$dest/$name"
  mkdir -p "$target" || fetch_die "cannot create $target"
  FETCH_WORK=$(mktemp -d "$target/.fetch.XXXXXX") || fetch_die "cannot write in $target"
  trap 'rm -rf "$FETCH_WORK"' EXIT
  mkdir "$FETCH_WORK/out"
  fetch_data "$from" "$FETCH_WORK/out" "$FETCH_WORK"
  local files=()
  for f in "$FETCH_WORK/out"/*; do files+=("$(basename "$f")"); done
  mv -f "$FETCH_WORK/out"/* "$target/"
  echo "fetch: $name ready in $target (${files[*]})"
}
