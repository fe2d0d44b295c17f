//! The Service Catalog API (`/api/sn_sc/servicecatalog/...`).

use axum::http::StatusCode;
use axum::response::Response;

use super::{Req, ServiceNowSim, error};

pub(super) fn handle(_sim: &ServiceNowSim, _req: &Req, _rest: &[&str]) -> Response {
    error(StatusCode::BAD_REQUEST, "Requested URI does not represent any resource", "the simulator's Service Catalog API is not there yet")
}
