# Sourced by end-to-end tests (not a test itself: CTest registers tests/e2e/*.sh only).
# small_demo_config SOURCE OUT: writes a small version of configs/demo.toml to OUT — a
# twentieth of the data, 30 pretraining steps, 1 epoch, one replicate, one thread per rank —
# which sweeps in well under a minute. Data and cache paths stay relative (data/demo,
# cache/demo.h5), so each test that runs from its own temporary directory gets its own.
small_demo_config() {
  local source=$1 out=$2
  sed -e 's/^demo = true$/demo = true\ndemo_scale = 0.05/' \
      -e 's/^pretrain_steps = .*/pretrain_steps = 30/' \
      -e 's/^epochs = .*/epochs = 1.0/' \
      -e 's/^replicates = 2/replicates = 1\nthreads = 1/' "$source/configs/demo.toml" > "$out"
  grep -q '^threads = 1' "$out" && grep -q '^demo_scale = 0.05' "$out" || {
    echo "FAIL: could not shrink $source/configs/demo.toml (its lines changed?)"; return 1; }
}
