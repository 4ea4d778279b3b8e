# Infrastructure for the inventory service. Planted flaws are commented; see EXPECTED.md.

provider "aws" {
  region = "eu-west-1"
}

# planted: S3 bucket readable by everyone, no encryption, no versioning, no logging
resource "aws_s3_bucket" "reports" {
  bucket = "inventory-reports"
}

resource "aws_s3_bucket_acl" "reports" {
  bucket = aws_s3_bucket.reports.id
  acl    = "public-read"
}

resource "aws_s3_bucket_public_access_block" "reports" {
  bucket                  = aws_s3_bucket.reports.id
  block_public_acls       = false
  block_public_policy     = false
  ignore_public_acls      = false
  restrict_public_buckets = false
}

# planted: SSH open to the whole internet
resource "aws_security_group" "service" {
  name        = "inventory-service"
  description = "Inventory service"

  ingress {
    description = "SSH"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    description = "Anywhere"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

# planted: unencrypted, publicly accessible database
resource "aws_db_instance" "inventory" {
  identifier          = "inventory"
  engine              = "postgres"
  instance_class      = "db.t3.micro"
  allocated_storage   = 20
  username            = "inventory"
  manage_master_user_password = true
  storage_encrypted   = false
  publicly_accessible = true
  skip_final_snapshot = true
}
