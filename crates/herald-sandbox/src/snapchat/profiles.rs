//! Who the token is and what it may post to: `GET /v1/me` (the user) [assumption: modelled on the
//! Ads API's `me`], `GET /v1/me/organizations` [3p: C6; assumption: the Ads API's shape],
//! `GET /v1/organizations/{id}/public_profiles` (paged by `limit`, default 10, and `cursor`) [G,
//! from S4; 3p: C5, C6], `GET /v1/public_profiles/my_profile` (flat) [official S6; G],
//! `GET /v1/public_profiles/{id}` and `GET /public/v1/public_profiles/{id}` (the public subset,
//! for any profile) [G; official S7], each profile with the fields of S4.

use std::collections::BTreeMap;

use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};

use super::API_HOST;
use super::api::{Refusal, denied, invalid, item, managed, not_found, ok, time};
use super::world::{Profile, Token};
use crate::Sandbox;

/// Profiles per page: 10 unless asked [G]; at most 50 [assumption].
const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 50;

/// A profile's logos in Snap's four sizes [official S4; assumption: the addresses].
fn logos(p: &Profile) -> Value {
    let url = |size: u32| format!("https://cf-st.sc-cdn.net/aps/bolt/{}/{size}.png", p.id);
    json!({"original_logo_url": url(1280), "discover_feed_logo_url": url(72),
        "mega_profile_logo_url": url(90), "manage_profile_logo_url": url(640)})
}

/// A profile as the authorized endpoints show it [official S4; G types `subscriber_count` as a
/// string].
fn profile_json(p: &Profile) -> Value {
    json!({
        "id": p.id, "organization_id": p.organization_id, "display_name": p.display_name,
        "description": p.description, "snap_user_name": p.snap_user_name, "website": p.website,
        "profile_tier": "TIER_PUBLIC", "profile_type": "PUBLIC_PROFILE",
        "internal_profile_category": "BUSINESS", "subscriber_count": p.subscriber_count.to_string(),
        "logo_urls": logos(p), "profile_icon_primary_color_hex": "#FFFC00",
        "share_authorized_data_with_api_partners": false,
    })
}

/// A profile as the public endpoint shows it [assumption: which fields it keeps].
fn public_json(p: &Profile) -> Value {
    json!({
        "id": p.id, "display_name": p.display_name, "description": p.description,
        "snap_user_name": p.snap_user_name, "profile_type": "PUBLIC_PROFILE",
        "subscriber_count": p.subscriber_count.to_string(), "logo_urls": logos(p),
    })
}

/// `GET /v1/me`.
pub(super) fn me(sb: &Sandbox, t: &Token) -> Result<Response, Refusal> {
    let world = sb.snapchat();
    let u = world.user(&t.user_id).ok_or_else(|| not_found("No such user"))?;
    Ok(ok(json!({"me": {
        "id": u.id, "display_name": u.display_name, "email": u.email,
        "organization_id": u.organization_id, "member_status": "MEMBER",
        "created_at": time(u.created_at), "updated_at": time(u.created_at),
    }})))
}

/// `GET /v1/me/organizations`: the organizations the user is a member of.
pub(super) fn organizations(sb: &Sandbox, t: &Token) -> Result<Response, Refusal> {
    let world = sb.snapchat();
    let u = world.user(&t.user_id).ok_or_else(|| not_found("No such user"))?;
    let items: Vec<Value> = world
        .organizations
        .iter()
        .filter(|o| o.members.contains(&u.id))
        .map(|o| {
            item(
                "organization",
                json!({"id": o.id, "name": o.name, "country": o.country, "type": "ENTERPRISE",
                    "state": "ACTIVE", "created_at": time(o.created_at), "updated_at": time(o.created_at),
                    "my_display_name": u.display_name, "my_invited_email": u.email,
                    "my_member_id": u.id, "roles": ["admin"]}),
            )
        })
        .collect();
    Ok(ok(json!({ "organizations": items })))
}

fn cursor(id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("id:{id}"))
}

fn after(cursor: &str) -> Option<String> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("id:")
        .map(str::to_owned)
}

/// `GET /v1/organizations/{id}/public_profiles`: a page of the organization's profiles, and a
/// `paging.next_link` while more remain.
pub(super) fn of_organization(
    sb: &Sandbox,
    t: &Token,
    organization: &str,
    query: &BTreeMap<String, String>,
) -> Result<Response, Refusal> {
    let world = sb.snapchat();
    if !world.organizations.iter().any(|o| o.id == organization) {
        return Err(not_found("No such organization"));
    }
    if !world.member(&t.user_id, organization) {
        return Err(denied());
    }
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| invalid("limit must be a number from 1 to 50"))?,
    };
    let all: Vec<&Profile> = world
        .profiles
        .iter()
        .filter(|p| p.organization_id == organization)
        .collect();
    let start = match query.get("cursor") {
        None => 0,
        Some(c) => {
            after(c)
                .and_then(|id| all.iter().position(|p| p.id == id))
                .ok_or_else(|| invalid("The cursor is not valid"))?
                + 1
        }
    };
    let page: Vec<&Profile> = all.iter().skip(start).take(limit).copied().collect();
    let mut paging = json!({});
    if let Some(last) = page.last().filter(|_| start + page.len() < all.len()) {
        let next = cursor(&last.id);
        paging = json!({"next_page_id": next, "next_link": format!(
            "https://{API_HOST}/v1/organizations/{organization}/public_profiles?cursor={next}&limit={limit}"
        )});
    }
    let items: Vec<Value> = page
        .iter()
        .map(|p| item("public_profile", profile_json(p)))
        .collect();
    Ok(ok(json!({"public_profiles": items, "paging": paging})))
}

/// `GET /v1/public_profiles/my_profile`: the profile of the user's own Snapchat account, flat [G:
/// `MyProfileResponse`].
pub(super) fn my_profile(sb: &Sandbox, t: &Token) -> Result<Response, Refusal> {
    let world = sb.snapchat();
    let own = world
        .user(&t.user_id)
        .map(|u| u.own_profile.clone())
        .ok_or_else(|| not_found("No such user"))?;
    let p = managed(&world, t, &own)?;
    Ok(ok(json!({ "public_profile": profile_json(p) })))
}

/// `GET /v1/public_profiles/{id}`: one profile the user manages, in the batch form [G; 3p: C3].
pub(super) fn one(sb: &Sandbox, t: &Token, profile_id: &str) -> Result<Response, Refusal> {
    let world = sb.snapchat();
    let p = managed(&world, t, profile_id)?;
    Ok(ok(
        json!({"public_profiles": [item("public_profile", profile_json(p))]}),
    ))
}

/// `GET /public/v1/public_profiles/{id}`: any profile, its public fields only.
pub(super) fn public(sb: &Sandbox, profile_id: &str) -> Result<Response, Refusal> {
    let world = sb.snapchat();
    let p = world
        .profile(profile_id)
        .ok_or_else(|| not_found("No such Public Profile"))?;
    Ok(ok(
        json!({"public_profiles": [item("public_profile", public_json(p))]}),
    ))
}
