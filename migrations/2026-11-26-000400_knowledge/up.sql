-- Knowledge base: documents and their original bytes, chunks with a keyword index, and embeddings stored per
-- (chunk, model) so that changing the embedding model re-embeds in the background while old vectors keep serving.

-- Registry of embedding models. Each registered model gets a partial HNSW expression index on
-- chunk_embeddings, cast to its own dimension (pgvector indexes need a fixed dimension).
CREATE TABLE embedding_models (
    name       text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._:/-]{0,99}$'),
    provider   text NOT NULL CHECK (provider IN ('local', 'openai', 'ollama', 'openai_compatible')),
    dimensions integer NOT NULL CHECK (dimensions BETWEEN 1 AND 4000),
    is_default boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX embedding_models_one_default_key ON embedding_models (is_default) WHERE is_default;
GRANT SELECT ON embedding_models TO metachat_app;
-- The built-in, offline embedder (hashed word and character n-grams).
INSERT INTO embedding_models (name, provider, dimensions, is_default) VALUES ('local-hash-384', 'local', 384, true);

CREATE TABLE documents (
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    filename        text NOT NULL CHECK (length(btrim(filename)) BETWEEN 1 AND 255),
    mime_type       text NOT NULL CHECK (mime_type IN ('application/pdf',
                        'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
                        'text/html', 'text/markdown', 'text/plain', 'text/csv')),
    size_bytes      bigint NOT NULL CHECK (size_bytes > 0),
    -- SHA-256 of the original bytes
    checksum        bytea NOT NULL CHECK (length(checksum) = 32),
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processing', 'ready', 'failed', 'stale')),
    status_reason   text CHECK (length(status_reason) <= 1000),
    version         integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    language        text CHECK (language ~ '^[a-z]{2,3}$'),
    chunk_count     integer NOT NULL DEFAULT 0 CHECK (chunk_count >= 0),
    embedding_model text REFERENCES embedding_models (name),
    metadata        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    uploaded_by     uuid,
    processed_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    -- identical content for the same tenant is one document
    UNIQUE (tenant_id, checksum),
    FOREIGN KEY (tenant_id, uploaded_by) REFERENCES tenant_users (tenant_id, id) ON DELETE SET NULL (uploaded_by),
    CHECK (status <> 'failed' OR status_reason IS NOT NULL)
);
CREATE INDEX documents_tenant_status_updated_idx ON documents (tenant_id, status, updated_at DESC);
CREATE INDEX documents_tenant_created_idx ON documents (tenant_id, created_at DESC, id DESC);
SELECT app_track_updated_at('documents');
SELECT app_enable_tenant_rls('documents');

-- The original bytes of the current version, kept so that a failed document can be reprocessed.
CREATE TABLE document_contents (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    document_id uuid NOT NULL,
    version     integer NOT NULL CHECK (version >= 1),
    bytes       bytea NOT NULL CHECK (length(bytes) > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, document_id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE
);
SELECT app_enable_tenant_rls('document_contents');

CREATE TABLE chunks (
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id               uuid PRIMARY KEY,
    document_id      uuid NOT NULL,
    document_version integer NOT NULL CHECK (document_version >= 1),
    position         integer NOT NULL CHECK (position >= 0),
    content          text NOT NULL CHECK (length(content) BETWEEN 1 AND 32768),
    token_count      integer NOT NULL CHECK (token_count > 0),
    -- page, heading path, character offsets
    metadata         jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    content_tsv      tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, content)) STORED,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, document_id, position),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX chunks_content_tsv_idx ON chunks USING gin (content_tsv);
SELECT app_enable_tenant_rls('chunks');

CREATE TABLE chunk_embeddings (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    chunk_id   uuid NOT NULL,
    model      text NOT NULL REFERENCES embedding_models (name),
    -- untyped: each model's dimension is enforced by its partial index cast and checked by the integrity checker
    embedding  vector NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chunk_id, model),
    FOREIGN KEY (tenant_id, chunk_id) REFERENCES chunks (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX chunk_embeddings_tenant_model_idx ON chunk_embeddings (tenant_id, model);
CREATE INDEX chunk_embeddings_hnsw_local_hash_384 ON chunk_embeddings
    USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE model = 'local-hash-384';
SELECT app_enable_tenant_rls('chunk_embeddings');
