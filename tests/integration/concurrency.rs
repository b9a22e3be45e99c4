//! Many page loads of two accounts at once: each answer shows its own account and never the
//! other's (request context must never cross between concurrent renders).

use crate::common::TestApp;

on_both_databases!(concurrent_pages_of_two_accounts_never_mix);

async fn concurrent_pages_of_two_accounts_never_mix(app: &TestApp) {
    let mut ann = app.client();
    ann.sign_up("ann@example.com").await.assert_redirect_to("/");
    let mut ben = app.client();
    ben.sign_up("ben@example.com").await.assert_redirect_to("/");
    let mut tasks = Vec::new();
    for round in 0..40 {
        for (client, mine, theirs) in
            [(&ann, "ann@example.com", "ben@example.com"), (&ben, "ben@example.com", "ann@example.com")]
        {
            let mut client = client.clone();
            let path = ["/", "/devices", "/history", "/security"][round % 4];
            tasks.push(tokio::spawn(async move {
                let page = client.get(path).await;
                assert_eq!(page.status, 200, "{path}");
                assert!(page.body.contains(mine), "{path} shows its own account");
                assert!(!page.body.contains(theirs), "{path} of {mine} shows {theirs}");
            }));
        }
    }
    for task in tasks {
        task.await.expect("page load");
    }
}
