// Catch2 main for tests that run under mpiexec: owns MPI_Init/Finalize (as HighFive's parallel
// tests do). Only rank 0 reports to the console, every rank runs every test; a failure on any
// rank fails the process and so the CTest entry.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <mpi.h>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
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
