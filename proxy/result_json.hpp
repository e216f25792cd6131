// Between the client's typed values (integration/exasol) and the front's JSON shapes
// (integration/front): results, columns and session attributes, so that what upstream answered
// reaches the proxy's client as Exasol would have sent it.
#pragma once

#include "integration/exasol/values.hpp"
#include "integration/front/engine.hpp"

#include <string>
#include <vector>

namespace exapool::proxy {

// {"type":"DECIMAL","precision":18,"scale":0}, ...: the dataType of `c` with the properties its
// type has.
boost::json::object data_type_json(const exasol::column& c);

// A value as Exasol's JSON has it: DECIMAL with a scale or a large precision as a string.
boost::json::value value_json(const exasol::value& v);

exafront::statement_result front_result(const exasol::result& r);

// The columns of a JSON array as the server sent them ("[{"name":..,"dataType":{..}}, ..]");
// malformed text gives what parsed (the server's own answer, already checked by the client).
std::vector<exafront::column> front_columns(const std::string& columns_json);

// The attributes a client's session has that a pooled connection must have too before the
// client's statement runs (autocommit, currentSchema, queryTimeout, ...).
exasol::attributes wanted_attributes(const exafront::attribute_set& client);

// Takes over what a statement changed on the connection (an OPEN SCHEMA, ALTER SESSION of the
// query timeout, openTransaction) into the client's attributes.
void take_attributes(const exasol::attributes& after, bool transaction_open,
                     exafront::attribute_set& client);

} // namespace exapool::proxy
