output "private_dns" {
  value = aws_instance.this.private_dns
}

output "security_group_id" {
  value = aws_security_group.this.id
}
