// The calling process's place in MPI_COMM_WORLD, for the tests run under mpiexec.
#pragma once

#include <mpi.h>

namespace ordertune::testing {

inline int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

inline int world_size() {
  int s = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

}  // namespace ordertune::testing
