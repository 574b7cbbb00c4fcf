#include "ordertune/dist/mpi_check.h"

#include <string>

#include <fmt/format.h>

#include "ordertune/base/error.h"

namespace ordertune {

void mpi_check(int rc, const char* call, const char* file, int line) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {0};
  int len = 0;
  // MPI_Error_string may itself fail on a code it does not know: then the code is all we have.
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS || len <= 0)
    throw LibraryError(fmt::format("{}:{}: {} failed: MPI error code {}", file, line, call, rc));
  throw LibraryError(fmt::format("{}:{}: {} failed: {}", file, line, call,
                                 std::string(text, static_cast<size_t>(len))));
}

bool mpi_finalized() {
  int finalized = 0;
  MPI_Finalized(&finalized);  // allowed at any time, even after MPI_Finalize
  return finalized != 0;
}

}  // namespace ordertune
