// Catch2 main of the core + text unit tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
