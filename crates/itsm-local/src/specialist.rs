//! [`SpecialistCatalog`] for [`LocalStore`].

use async_trait::async_trait;
use itsm_core::{
    Capabilities, Error, IdempotencyKey, ListRequest, Listing, Person, Result, TeamId,
};
use itsm_specialist::{
    CatalogFile, Comment, NewRequest, Offering, OfferingId, RequestFilter, RequestId, RequestState,
    SpecialistCatalog, SpecialistRequest, SpecialistTeam, capability,
};

use crate::records::Page;
use crate::store::LocalStore;
use crate::{SYSTEM, specialist_table as table};

/// The local store's specialist catalog, with these rules (checked by
/// `itsm_testkit::conformance::specialist`):
///
/// - **Catalog.** Teams and offerings come from a [`CatalogFile`] loaded with
///   [`LocalStore::load_specialist_catalog`]; offerings are listed by id.
/// - **Submit.** The offering must be in the catalog and the inputs must pass
///   [`Offering::validate_inputs`], else [`ErrorKind::InvalidInput`](itsm_core::ErrorKind::InvalidInput)
///   naming the offering or input, and nothing is stored. The request lands in the
///   offering's team's queue, submitted, with one recorded transition. Ids and numbers are
///   `REQ0000001`, …; `external` is `local:<id>`. A key already used returns that request.
/// - **Lifecycle.** Only moves allowed by [`RequestState::can_move_to`]; each is recorded
///   with its time, who and the note. Moving to the state the request is in changes
///   nothing; any other illegal move is a conflict naming both states.
/// - **Comments.** Keyed per request: the same key twice adds one comment; an empty text is
///   invalid input. A comment's time defaults to now.
/// - **Listing.** Queue order (oldest submission first), filtered by team, requester,
///   offering and states; 100 per page by default, at most 1000.
#[async_trait]
impl SpecialistCatalog for LocalStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new(SYSTEM).with_all([
            capability::REQUEST_LIST,
            capability::TRANSITIONS,
            capability::COMMENTS,
        ])
    }

    async fn list_offerings(&self, team: Option<TeamId>) -> Result<Vec<Offering>> {
        self.read(move |conn| table::offerings(conn, team.as_ref()))
            .await
    }

    async fn get_offering(&self, id: &OfferingId) -> Result<Offering> {
        let id = id.clone();
        self.read(move |conn| {
            table::offering(conn, &id)?.ok_or_else(|| {
                Error::not_found(format!(
                    "offering {id} is not in the catalog of {}",
                    conn.path().display()
                ))
                .with_context("offering", &id)
            })
        })
        .await
    }

    async fn submit(
        &self,
        key: &IdempotencyKey,
        request: &NewRequest,
    ) -> Result<SpecialistRequest> {
        let (key, new, now) = (key.clone(), request.clone(), self.now());
        self.write(move |conn| table::submit(conn, &key, &new, now))
            .await
    }

    async fn find_request_by_key(&self, key: &IdempotencyKey) -> Result<Option<SpecialistRequest>> {
        let key = key.clone();
        self.read(move |conn| table::by_key(conn, &key)).await
    }

    async fn get_request(&self, id: &RequestId) -> Result<SpecialistRequest> {
        let id = id.clone();
        self.read(move |conn| table::get(conn, &id)).await
    }

    async fn list_requests(
        &self,
        filter: &RequestFilter,
        page: &ListRequest,
    ) -> Result<Listing<SpecialistRequest>> {
        let (filter, page) = (filter.clone(), Page::of(page)?);
        self.read(move |conn| table::list(conn, &filter, page))
            .await
    }

    async fn transition(
        &self,
        id: &RequestId,
        to: RequestState,
        by: Person,
        note: Option<String>,
    ) -> Result<SpecialistRequest> {
        let (id, now) = (id.clone(), self.now());
        self.write(move |conn| {
            let mut request = table::get(conn, &id)?;
            if table::apply_transition(&mut request, to, by, note, now)? {
                table::save(conn, &request, now)?;
            }
            Ok(request)
        })
        .await
    }

    async fn comment(
        &self,
        id: &RequestId,
        key: &IdempotencyKey,
        comment: &Comment,
    ) -> Result<SpecialistRequest> {
        if comment.text.trim().is_empty() {
            return Err(Error::invalid_input(
                "a comment must not be empty; write what you need to say",
            )
            .with_context("field", "text"));
        }
        let (id, key, comment, now) = (id.clone(), key.clone(), comment.clone(), self.now());
        self.write(move |conn| {
            let mut request = table::get(conn, &id)?;
            if table::add_comment(conn, &mut request, &key, &comment, now)? {
                table::save(conn, &request, now)?;
            }
            Ok(request)
        })
        .await
    }
}

impl LocalStore {
    /// Makes the catalog exactly `file`'s teams and offerings (checked with
    /// [`CatalogFile::validate`] first): new and changed ones are written, those no longer
    /// in the file removed; requests are kept. Loading the same file again writes nothing.
    pub async fn load_specialist_catalog(&self, file: &CatalogFile) -> Result<()> {
        file.validate()?;
        let file = file.clone();
        self.write(move |conn| table::load_catalog(conn, &file))
            .await
    }

    /// The specialist teams of the loaded catalog, by id.
    pub async fn specialist_teams(&self) -> Result<Vec<SpecialistTeam>> {
        self.read(table::teams).await
    }
}
