output "endpoint" {
  value = aws_rds_cluster.this.endpoint
}

output "security_group_id" {
  value = aws_security_group.this.id
}
