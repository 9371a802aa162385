# Sourced by the benchmark parts run.sh calls (route_programming.sh, dataplane.sh): their shared
# command line, `--out DIR --build BUILDDIR [--quick]`. Sets out (absolute, created), build, quick.
out="" build="" quick=0
part_usage() { echo "usage: $0 --out DIR --build BUILDDIR [--quick]" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
        --out) out=$2; shift 2 ;;
        --build) build=$2; shift 2 ;;
        --quick) quick=1; shift ;;
        *) part_usage ;;
    esac
done
[ -n "$out" ] && [ -n "$build" ] || part_usage
mkdir -p "$out"
out=$(realpath "$out")
