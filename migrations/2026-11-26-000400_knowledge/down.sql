DROP TABLE chunk_embeddings;
DROP TABLE chunks;
DROP TABLE document_contents;
DROP TABLE documents;
DROP TABLE embedding_models;
