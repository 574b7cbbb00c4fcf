// The one Catch2 main of the tests that run under mpiexec (tests/mpi: core; tests/mpi_engine:
// LibTorch, built with ORDERTUNE_TEST_WITH_TORCH). It owns MPI_Init/Finalize, as HighFive's
// parallel tests do. Only rank 0 reports to the console, every rank runs every test; a failure
// on any rank fails the process and so the CTest entry.
#define CATCH_CONFIG_RUNNER
#ifdef ORDERTUNE_TEST_WITH_TORCH
// LibTorch first, and glog's CHECK macros gone before Catch2 (see engine/engine_test.h).
#include "engine/engine_test.h"
#else
#include <catch2/catch.hpp>
#endif
#include <mpi.h>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
#ifdef ORDERTUNE_TEST_WITH_TORCH
  // Ranks share the cores (OMP_NUM_THREADS=1 from CTest): one compute thread each.
  at::set_num_threads(1);
#endif
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  Catch::Session session;
  if (int rc = session.applyCommandLine(argc, argv); rc != 0) {
    MPI_Finalize();
    return rc;
  }
  if (rank != 0) session.configData().outputFilename = "%debug";  // silence, keep exit codes
  const int failed = session.run();
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return any_failed > 0 ? 1 : 0;
}
