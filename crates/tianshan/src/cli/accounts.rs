//! `tianshan user …` and `tianshan token …`: accounts and API tokens from the command line.
use super::*;

pub(super) async fn user(action: UserAction, clock: Clock) -> Result<(), CliError> {
    match action {
        UserAction::Add {
            db,
            username,
            roles,
            scope,
            display_name,
            locale,
        } => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .map_err(|e| {
                    CliError::Message(format!("cannot read the password from standard input: {e}"))
                })?;
            let password = password.trim_end_matches(['\n', '\r']);
            let d = open(&db, &clock).await?;
            let display = display_name.unwrap_or_else(|| username.clone());
            let r = users::create_user(
                &d,
                &clock,
                By::Cli,
                NewUser {
                    username: &username,
                    password,
                    roles,
                    scope_code: scope.as_deref(),
                    display_name: &display,
                    locale: &locale,
                },
            )
            .await;
            d.close().await;
            r?;
            eprintln!("User {username} added.");
            Ok(())
        }
        UserAction::Disable { db, username } => set_active(db, username, false, clock).await,
        UserAction::Enable { db, username } => set_active(db, username, true, clock).await,
        UserAction::Unlock { db, username } => {
            let d = open(&db, &clock).await?;
            let r = match users::by_username(&d, &username).await {
                Ok(u) => tianshan_platform::ratelimit::unlock(&d, &clock, By::Cli, &u).await,
                Err(e) => Err(e),
            };
            d.close().await;
            r?;
            eprintln!("Sign-in of {username} unlocked.");
            Ok(())
        }
        UserAction::Roles {
            db,
            username,
            roles,
        } => {
            let d = open(&db, &clock).await?;
            let r = users::set_roles(&d, &clock, By::Cli, &username, roles).await;
            d.close().await;
            r?;
            eprintln!("Roles of {username} replaced.");
            Ok(())
        }
        UserAction::List { db } => {
            let d = open(&db, &clock).await?;
            let list = users::list(&d, None, 100_000).await;
            d.close().await;
            for u in list? {
                println!(
                    "{:<20} {:<8} {:<30} {}",
                    u.username,
                    if u.active == 1 { "active" } else { "disabled" },
                    u.roles,
                    u.scope_code.as_deref().unwrap_or("(whole network)")
                );
            }
            Ok(())
        }
    }
}

async fn set_active(
    db: DbArgs,
    username: String,
    active: bool,
    clock: Clock,
) -> Result<(), CliError> {
    let d = open(&db, &clock).await?;
    let r = users::set_active(&d, &clock, By::Cli, &username, active).await;
    d.close().await;
    r?;
    if active {
        eprintln!("User {username} enabled.");
    } else {
        eprintln!(
            "User {username} disabled; their sessions and tokens stop working within a second."
        );
    }
    Ok(())
}

pub(super) async fn token(action: TokenAction, clock: Clock) -> Result<(), CliError> {
    match action {
        TokenAction::Create { db, user, label } => {
            let d = open(&db, &clock).await?;
            let r = users::create_api_token(&d, &clock, By::Cli, &user, &label).await;
            d.close().await;
            println!("{}", r?);
            Ok(())
        }
        TokenAction::Revoke { db, token } => {
            let d = open(&db, &clock).await?;
            let r = users::revoke_token(&d, &clock, By::Cli, token.trim()).await;
            d.close().await;
            r?;
            eprintln!("Token revoked; every server process refuses it within a second.");
            Ok(())
        }
        TokenAction::List { db, user } => {
            let d = open(&db, &clock).await?;
            let r = async {
                let u = users::by_username(&d, &user).await?;
                users::tokens(&d, &u.id).await
            }
            .await;
            d.close().await;
            for t in r? {
                println!(
                    "{}  {}  {}  {}",
                    t.id,
                    t.created_at,
                    t.revoked_at
                        .as_deref()
                        .map(|r| format!("revoked {r}"))
                        .unwrap_or_else(|| "active".into()),
                    t.label
                );
            }
            Ok(())
        }
    }
}
