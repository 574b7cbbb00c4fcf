// Every rank of a sweep reads the same data cache independently (DESIGN.md: tokenize once, read
// by thousands of ranks). Rank 0 writes a cache; every rank reads it concurrently and all must
// see identical features.
#include <mpi.h>

#include <catch2/catch.hpp>

#include "ordertune/base/hash.h"
#include "ordertune/data/data_cache.h"
#include "test_paths.h"

using namespace ordertune;

namespace {

int rank_of(MPI_Comm comm) {
  int r = 0;
  MPI_Comm_rank(comm, &r);
  return r;
}
int size_of(MPI_Comm comm) {
  int s = 0;
  MPI_Comm_size(comm, &s);
  return s;
}

}  // namespace

TEST_CASE("all ranks read identical features from one cache concurrently", "[mpi][cache]") {
  const int rank = rank_of(MPI_COMM_WORLD);
  const int size = size_of(MPI_COMM_WORLD);
  REQUIRE(size >= 2);
  // One path for all ranks: rank 0 chooses it and broadcasts it.
  char path_buf[512] = {0};
  std::unique_ptr<testing::ScratchDir> dir;
  if (rank == 0) {
    dir = std::make_unique<testing::ScratchDir>("mpi-cache");
    const std::string p = (dir->path() / "c.h5").string();
    REQUIRE(p.size() < sizeof path_buf);
    std::copy(p.begin(), p.end(), path_buf);
    CachedTask task;
    task.name = "lm";
    task.type = TaskType::kMLM;
    SplitFeatures f;
    f.type = TaskType::kMLM;
    for (int i = 0; i < 20000; ++i) f.mlm.input_ids.push_row({0, (i * 31) % 997 + 4, 2});
    CacheWriter w(p);
    w.write_header("{}", "model", "h");
    w.begin_task(task);
    w.write_split("lm", "train", "en", f);
    w.commit();
  }
  MPI_Bcast(path_buf, sizeof path_buf, MPI_CHAR, 0, MPI_COMM_WORLD);

  CacheReader reader(path_buf);
  const SplitFeatures f = reader.read_split("lm", "train", "en");
  REQUIRE(f.mlm.input_ids.rows() == 20000);
  // Every rank checks a property of the data it read, then all digests must agree.
  CHECK(f.mlm.input_ids.values[3 * 5 + 1] == (5 * 31) % 997 + 4);
  uint64_t digest =
      Hasher()
          .update(f.mlm.input_ids.values.data(), f.mlm.input_ids.values.size() * sizeof(int32_t))
          .digest();
  std::vector<uint64_t> all(static_cast<size_t>(size));
  MPI_Allgather(&digest, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD);
  for (int r = 0; r < size; ++r) CHECK(all[static_cast<size_t>(r)] == all[0]);
  MPI_Barrier(MPI_COMM_WORLD);  // rank 0 removes the folder only after everyone has read
}
