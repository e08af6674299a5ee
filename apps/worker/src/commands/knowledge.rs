//! `knowledge switch-model --tenant --model`: registers the models this worker embeds with, then starts the
//! tenant's switch (`meta_chat_database::embedding_models::begin_switch`); the running worker's model-switch
//! job does the rest (`meta_chat_rag::reembed`).

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::{Context, ensure};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::{DbError, embedding_models, pool};
use meta_chat_rag::Embedders;
use meta_chat_shared::Config;
use meta_chat_shared::ids::TenantId;

/// Starts switching `tenant` to `model`.
pub(crate) async fn switch_model(config: &Config, tenant: TenantId, model: &str) -> anyhow::Result<ExitCode> {
    let providers = meta_chat_llm::Providers::new(&config.llm)?;
    let embedders = Embedders::from_config(&providers, &config.llm.embedding);
    ensure!(
        embedders.get(model).is_some(),
        "this worker cannot embed with `{model}`: configure llm.embedding (model, dimensions) first"
    );
    let owner = pool::build_admin(&config.database, "metachat-worker-knowledge")?;
    let mut conn = owner.get().await.map_err(DbError::from)?;
    embedders.register_all(&mut conn).await.context("registering the embedding models")?;
    let model = model.to_owned();
    let models = in_tenant_tx(&mut conn, tenant, |conn| {
        Box::pin(async move { embedding_models::begin_switch(conn, tenant, &model).await })
    })
    .await
    .context("starting the switch (is the tenant id right?)")?;
    let mut out = std::io::stdout().lock();
    match models.next {
        Some(next) => writeln!(out, "switching tenant {tenant} from {} to {}", models.active.name, next.name)?,
        None => writeln!(out, "tenant {tenant} uses {}; no switch under way", models.active.name)?,
    }
    Ok(ExitCode::SUCCESS)
}
