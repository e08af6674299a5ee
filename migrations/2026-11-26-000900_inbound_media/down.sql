DROP TABLE media_blobs;
