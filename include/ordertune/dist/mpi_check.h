// mpi_check — every MPI call of ordertune goes through OT_MPI_CHECK (dist and sweep alike), so a
// failing call is reported one way: a LibraryError "FILE:LINE: CALL failed: MPI's own text".
//
// Error handlers. ordertune leaves MPI's communicators at their default handler: with Open MPI's
// MPI_ERRORS_ARE_FATAL, MPI aborts the job itself, with its own message, before a code could be
// returned (communicator.h, "Error model"). The check still matters: an MPI built with
// MPI_ERRORS_RETURN as default, or a communicator a caller set to it, returns the code, and then
// the call is named instead of ignored.
#pragma once

#include <mpi.h>

namespace ordertune {

// Returns when rc is MPI_SUCCESS; else throws LibraryError naming `call` (its source text),
// `file` and `line`, with MPI_Error_string's text for rc.
void mpi_check(int rc, const char* call, const char* file, int line);

// Whether MPI_Finalize has run (destructors of MPI objects then must not call MPI).
bool mpi_finalized();

}  // namespace ordertune

#define OT_MPI_CHECK(call) ::ordertune::mpi_check((call), #call, __FILE__, __LINE__)
